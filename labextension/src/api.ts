/**
 * The REST client of the server extension, through Jupyter's ServerConnection (which adds the token or
 * XSRF header the server's authentication needs).
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import type { INasApi, IStudyDetails, IStudyList } from './types';

/** An error answer of the server: its status code and the message of its JSON body. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** The server extension's API at `{baseUrl}nas-workbench/api/`. */
export class ServerApi implements INasApi {
  constructor(
    private readonly settings: ServerConnection.ISettings = ServerConnection.makeSettings()
  ) {}

  listStudies(): Promise<IStudyList> {
    return this.request<IStudyList>(['studies']);
  }

  studyDetails(storage: string, study: string): Promise<IStudyDetails> {
    return this.request<IStudyDetails>(['studies', storage, study]);
  }

  async openInNotebook(
    storage: string,
    study: string,
    directory: string
  ): Promise<string> {
    const reply = await this.request<{ path: string }>(
      ['studies', storage, study, 'notebook'],
      { method: 'POST', body: JSON.stringify({ directory }) }
    );
    return reply.path;
  }

  async newSearchNotebook(directory: string): Promise<string> {
    const reply = await this.request<{ path: string }>(['notebooks'], {
      method: 'POST',
      body: JSON.stringify({ directory })
    });
    return reply.path;
  }

  /**
   * Each segment is URL-encoded and none is normalised: a study name may hold any character, "/"
   * included (the server refuses "." and "..", which browsers would resolve away).
   */
  private async request<T>(
    segments: string[],
    init: RequestInit = {}
  ): Promise<T> {
    const url =
      URLExt.join(this.settings.baseUrl, 'nas-workbench/api') +
      '/' +
      segments.map(encodeURIComponent).join('/');
    let response: Response;
    try {
      response = await ServerConnection.makeRequest(url, init, this.settings);
    } catch (error) {
      throw new ServerConnection.NetworkError(error as TypeError);
    }
    const text = await response.text();
    let data: unknown = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      // not JSON: a proxy's error page; report the status below
    }
    if (!response.ok) {
      const message = (data as { message?: string } | null)?.message;
      throw new ApiError(
        response.status,
        message || `${response.status} ${response.statusText}`
      );
    }
    return data as T;
  }
}
