"""The REINFORCE controller and its optimiser (`nas_workbench.strategies.rl`'s policy), the part that needs
torch: the sampler imports this module when it is made, so that registering the strategy imports no torch.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["Controller", "Policy"]


class Controller(nn.Module):
    """Logits for each decision given the decisions made before it in the same architecture.

    Decisions are met while the space is asked, so their parameters are created on first sight;
    `grow` returns the new ones for the optimiser.
    """

    def __init__(self, kind: str, hidden_size: int, seed: int) -> None:
        super().__init__()
        self.kind = kind
        self.hidden_size = hidden_size
        # Its own generator: parameters created later (new decisions) must not depend on, nor disturb,
        # the global random state that training uses.
        self._generator = torch.Generator().manual_seed(seed)
        self._index: dict[str, int] = {}
        # Per decision (by index): factorized, its logits (n,); lstm, the head (n, hidden) + (n,) mapping the
        # hidden state to logits and the embeddings (n, hidden) of its choices, the next step's input.
        self.logits = nn.ParameterList()
        self.head_weights = nn.ParameterList()
        self.embeddings = nn.ParameterList()
        if kind == "lstm":
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                self.cell = nn.LSTMCell(hidden_size, hidden_size)
            self.start = nn.Parameter(torch.zeros(1, hidden_size))

    def grow(self, key: str, n_choices: int) -> list[nn.Parameter]:
        """Create the parameters of decision ``key`` if it is new; return them (else an empty list)."""
        if key in self._index:
            return []
        self._index[key] = len(self._index)
        # Zero logits and zero heads: the policy starts uniform over every decision.
        new = [nn.Parameter(torch.zeros(n_choices))]
        if self.kind == "lstm":
            new += [
                nn.Parameter(torch.zeros(n_choices, self.hidden_size)),
                nn.Parameter(torch.randn(n_choices, self.hidden_size, generator=self._generator)),
            ]
            self.head_weights.append(new[1])
            self.embeddings.append(new[2])
        self.logits.append(new[0])  # the bias of the lstm's head
        return new

    def begin(self) -> Any:
        """The state before the first decision of an architecture."""
        if self.kind == "factorized":
            return None
        zeros = torch.zeros(1, self.hidden_size)
        return (self.start, zeros, zeros)

    def decision_logits(self, state: Any, key: str) -> tuple[torch.Tensor, Any]:
        """Logits over the choices of ``key`` and the state after reading them."""
        index = self._index[key]
        if self.kind == "factorized":
            return self.logits[index], state
        x, h, c = state
        h, c = self.cell(x, (h, c))
        return F.linear(h, self.head_weights[index], self.logits[index])[0], (None, h, c)

    def advance(self, state: Any, key: str, action: int) -> Any:
        """The state after choosing ``action`` for ``key``."""
        if self.kind == "factorized":
            return None
        _, h, c = state
        return (self.embeddings[self._index[key]][action : action + 1], h, c)


class Policy:
    """A `Controller` and the Adam optimiser of its parameters: draws decisions and learns from rewards.

    Args:
        kind: "factorized" or "lstm".
        hidden_size: Width of the LSTM controller.
        seed: Seeds the controller's initialisation (never the global random state).
        learning_rate: Adam step size.
    """

    def __init__(self, kind: str, hidden_size: int, seed: int, learning_rate: float) -> None:
        self.controller = Controller(kind, hidden_size, seed)
        self.learning_rate = learning_rate
        self.optimizer: torch.optim.Adam | None = None  # made when the first decisions are seen

    def begin(self) -> Any:
        """The controller's state before the first decision of an architecture."""
        return self.controller.begin()

    def learn(self, decisions: Sequence[tuple[str, int, int]], advantage: float) -> None:
        """One policy-gradient step ``-advantage * log p(architecture)`` for ``decisions`` (key, action,
        number of choices) taken in order."""
        for key, _, n in decisions:
            self._grow(key, n)
        state = self.controller.begin()
        log_prob = torch.zeros(())
        for key, action, _ in decisions:
            logits, state = self.controller.decision_logits(state, key)
            log_prob = log_prob + torch.log_softmax(logits, dim=0)[action]
            state = self.controller.advance(state, key, action)
        assert self.optimizer is not None
        self.optimizer.zero_grad()
        (-advantage * log_prob).backward()
        self.optimizer.step()

    def draw(self, state: Any, key: str, n_choices: int, rng: random.Random) -> tuple[int, Any]:
        """The index of the choice drawn for decision ``key`` with ``rng``, and the state after it."""
        self._grow(key, n_choices)
        with torch.no_grad():
            logits, state = self.controller.decision_logits(state, key)
            weights = torch.softmax(logits, dim=0).tolist()
            action = rng.choices(range(n_choices), weights=weights)[0]
            return action, self.controller.advance(state, key, action)

    def _grow(self, key: str, n_choices: int) -> None:
        new = self.controller.grow(key, n_choices)
        if not new:
            return
        if self.optimizer is None:
            self.optimizer = torch.optim.Adam(self.controller.parameters(), lr=self.learning_rate)
        else:
            self.optimizer.add_param_group({"params": new})
