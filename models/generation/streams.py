"""The generation loop, `generate(lm, prompt, decoding)`: many generations of one model step together.
Each session's `Stream` joins a shared batch, one forward pass per step for all of them, and leaves it
when it stops or its reader goes away.
"""

import logging
import queue
from collections.abc import Iterator
from typing import Any

import torch

from models.core.batching import BatchWorker
from models.core.errors import InputError
from models.generation.decoding import Decoding, Step, choose
from models.generation.language_model import LanguageModel

MAX_PROMPT_CHARS = 4000

log = logging.getLogger("studio.generation")


def generate(lm: LanguageModel, prompt: str, decoding: Decoding, chat: bool = False) -> Iterator[Step]:
    """One Step per new token until a stop token or `decoding.max_new_tokens`; the same seed gives the
    same text. Bad input raises InputError here, before the first step. Transformer models run
    every session's stream in one shared batch (see `StreamBatcher`); closing the iterator early
    (a session that goes away) takes the stream out of the batch at its next step."""
    decoding.check(lm)
    if len(prompt) > MAX_PROMPT_CHARS:
        raise InputError(f"The prompt is {len(prompt):,} characters; the limit is {MAX_PROMPT_CHARS:,}.")
    served = lm.stream_generation(prompt, decoding, chat)
    if served is not None:  # the steps are made elsewhere (a replica on the Ray cluster)
        return served
    stream = Stream(lm, lm.encode(prompt, chat), decoding)
    batcher = getattr(lm, "batcher", None)
    if batcher is None or not batcher.enabled:  # a batch of one, stepped by the reader
        alone = StreamBatch(lm)
        alone.add([stream])
        return stream.results(alone)
    batcher.submit(stream)
    return stream.results()


class Stream:
    """One request's generation: its prompt ids, decoding and random generator, and the Steps made so
    far, handed to the reader through a queue when the stream runs in a shared batch."""

    def __init__(self, lm: LanguageModel, ids: list[int], decoding: Decoding):
        self.lm, self.ids, self.decoding = lm, ids, decoding
        self.generated: list[int] = []
        self.shown = ""
        self.count = 0
        self.generator: torch.Generator | None = None
        self.steps: queue.SimpleQueue[Step | BaseException | None] = queue.SimpleQueue()
        self.abandoned = False  # the reader went away: stop working for it

    def step(self, logits: torch.Tensor) -> Step:
        """Choose the next token from its logits (V,) and describe the choice."""
        lm, decoding = self.lm, self.decoding
        if self.generator is None:  # seeded on the logits' device, once
            self.generator = torch.Generator(device=logits.device).manual_seed(decoding.seed)
        chosen, rule = choose(logits, decoding, self.generator)
        probs = torch.softmax(logits.float(), dim=-1)
        k = min(decoding.alternatives, probs.numel())
        top = torch.topk(probs, k)
        parts = [chosen.double().view(1), probs[chosen].double().view(1), top.values.double(), top.indices.double()]
        if rule is not None:
            # Temperature, top-k and top-p keep the model's order, so its top tokens are the rule's top tokens.
            parts += [(rule > 0).sum().double().view(1), rule[top.indices].double()]
        packed = torch.cat(parts).tolist()  # the step's one host read: each .item() would stall a GPU
        token, prob = int(packed[0]), packed[1]
        alternatives = tuple(
            (lm.label(int(i)), p) for i, p in zip(packed[2 + k : 2 + 2 * k], packed[2 : 2 + k], strict=True)
        )
        candidates = 1 if rule is None else int(packed[2 + 2 * k])
        rule_probs = () if rule is None else tuple(packed[3 + 2 * k :])
        stop = lm.is_stop(token)
        text = ""
        if not stop and lm.partial_tokens:
            self.generated.append(token)
            # A token can be half of a multi-byte character: decode everything so far, show it once complete.
            decoded = lm.decode(self.generated)
            if not decoded.endswith("\ufffd"):
                text, self.shown = decoded[len(self.shown) :], decoded
        elif not stop:
            text = lm.decode([token])
        self.count += 1
        return Step(token, text, lm.label(token), prob, alternatives, stop, rule_probs, candidates)

    def finished(self, step: Step) -> bool:
        return step.stop or self.count >= self.decoding.max_new_tokens

    def results(self, batch: "StreamBatch | None" = None) -> Iterator[Step]:
        """The Steps as they are made: by the shared batch's worker thread, or, given a `batch` of
        this stream alone, by stepping it here. An error in the batch is raised here."""
        try:
            while True:
                while batch is not None and batch.streams and self.steps.empty():
                    batch.step()
                item = self.steps.get()
                if item is None:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            self.abandoned = True


class StreamBatch:
    """Streams of one model generating together: one forward pass per step for all of them."""

    def __init__(self, lm: LanguageModel):
        self.lm = lm
        self.streams: list[Stream] = []
        self.logits: torch.Tensor | None = None  # (B, V): each stream's next-token logits
        self.state: Any = None

    def add(self, streams: list[Stream]) -> None:
        """Run each new stream's prompt and join it to the batch."""
        logits, states = [], []
        for stream in streams:
            try:
                with torch.inference_mode():
                    row_logits, state = self.lm.start(stream.ids)
            except Exception as exc:  # reaches that stream's reader only
                stream.steps.put(exc)
                continue
            logits.append(row_logits[None])
            states.append(state)
            self.streams.append(stream)
        if states:
            with torch.inference_mode():
                self.logits = torch.cat(([self.logits] if self.logits is not None else []) + logits)
                self.state = self.lm.join(([self.state] if self.state is not None else []) + states)

    def step(self) -> None:
        """One token for every stream; finished and abandoned streams leave the batch."""
        tokens, rows = [], []
        with torch.inference_mode():
            for row, stream in enumerate(self.streams):
                if stream.abandoned:
                    log.info("generation stopped after %d tokens: its reader went away", stream.count)
                    continue
                step = stream.step(self.logits[row])
                stream.steps.put(step)
                if stream.finished(step):
                    stream.steps.put(None)  # the reader's end of stream
                    continue
                tokens.append(step.token_id)
                rows.append(row)
            if not rows:
                self.streams, self.logits, self.state = [], None, None
                return
            if len(rows) < len(self.streams):
                self.streams = [self.streams[row] for row in rows]
                self.state = self.lm.keep(self.state, rows)
            self.logits, self.state = self.lm.advance(tokens, self.state)

    def fail(self, exc: BaseException) -> None:
        """Something in the batch failed (a forward pass, joining a stream): every stream in it gets the error."""
        for stream in self.streams:
            stream.steps.put(exc)
        self.streams, self.logits, self.state = [], None, None


class StreamBatcher(BatchWorker[Stream]):
    """Continuous batching for one model: streams that arrive while others run join the batch at its
    next step (at most `max_streams` at once; more wait in the queue)."""

    def __init__(self, lm: LanguageModel, max_streams: int = 32, max_waiting: int = 64, wait_ms: float = 3.0):
        super().__init__(lm.name, max_waiting)
        self.lm, self.max_streams, self.wait_seconds = lm, max_streams, wait_ms / 1000

    def serve(self) -> None:
        batch = StreamBatch(self.lm)
        try:
            batch.add(self.take(self.max_streams, self.wait_seconds))
            while batch.streams:
                if len(batch.streams) < self.max_streams and (
                    newcomers := self.take(self.max_streams - len(batch.streams))
                ):
                    batch.add(newcomers)
                batch.step()
        except Exception as exc:  # reaches every reader in the batch instead of leaving them waiting
            batch.fail(exc)
