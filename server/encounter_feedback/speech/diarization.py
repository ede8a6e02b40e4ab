"""Who spoke when on one room microphone: voice embeddings, two clusters, a voice per word.

    utterances (VAD speech + audio) -> 1.6 s windows every 0.5 s -> voice embeddings
      -> two clusters (spectral clustering on cosine affinity, then centroid refinement)
      -> one or two voices (is the split clearly better than splitting one voice?)
      -> speaker track: per 10 ms frame, how much more the windows covering it sound like voice 0
    segment words -> pieces (cut at sentence ends and pauses) -> each word's voice:
      a piece shorter than a window is embedded on its own and judged as a whole (its own
      voice plus the track around it); a longer piece word by word, from the track

Windows of 1.6 s (what the encoder was trained on) cluster reliably but smear a short answer
("No.") between two questions into the questions around it. Pieces fix that: the answer is its
own sentence in the transcript, and its own embedding, compared with the voices found from the
long windows, tells who said it. A piece is embedded from its own frames only (zero padding
pulls an embedding towards silence).

Offline, `RoomDiarizer` takes a whole track's transcribed utterances at once; the live room
station adds them as they are final and re-clusters as the encounter goes on (`update`).
Voices are anonymous (0, 1): analysis/roles.py decides which one is the patient from what each
said. A word gets no voice (None) while only one voice has been heard.

Embedding costs most of the CPU (a 3-layer LSTM over 160 frames per window); BLAS runs on one
thread, since a second thread was several times slower on a busy two-core machine.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from encounter_feedback.events import Segment
from encounter_feedback.media.audio import SAMPLE_RATE
from encounter_feedback.speech.utterances import Utterance
from encounter_feedback.speech.voice_encoder import HOP, TRAINED_FRAMES, level_gain, mel_frames, shared_encoder

FRAME_S = HOP / SAMPLE_RATE
"""Resolution of the speaker track (10 ms, the encoder's mel hop)."""
_SENTENCE_END = (".", "?", "!")


@dataclass(frozen=True)
class DiarizationConfig:
    window_frames: int = TRAINED_FRAMES
    """Mel frames per clustering window: 1.6 s, what the encoder was trained on."""
    hop_s: float = 0.5
    """Step between windows inside an utterance."""
    min_window_s: float = 0.3
    """A shorter utterance is left out of the clustering and the track (its pieces still get a voice)."""
    piece_gap_s: float = 0.25
    """A pause between two words this long ends a piece (as a sentence end does)."""
    short_piece_s: float = TRAINED_FRAMES * HOP / SAMPLE_RATE
    """A piece shorter than this is embedded on its own and labelled as a whole."""
    min_run_s: float = 1.0
    """Inside a sentence, a change of voice must last this long on both sides to count."""
    min_piece_s: float = 0.3
    """Audio embedded for a piece at least (a shorter one takes the audio around its middle)."""
    min_windows: int = 30
    """Windows (about 15 s of speech) needed before a second voice can be told apart: with fewer,
    splitting one voice in two looks as clean as two voices do."""
    min_share: float = 0.10
    """A second voice must hold at least this share of the windows; less is one voice plus noise."""
    min_separation: float = 0.85
    """Share of the windows' variation along the line between the two centroids that the split
    explains. Two people: 0.90-0.95 on real consultations; one voice split in two: 0.63-0.79
    (a clean split of one Gaussian cloud explains 2/pi = 0.64)."""
    refine_iterations: int = 10
    """Rounds of moving each window to its nearer centroid after the spectral split."""
    batch: int = 256
    """Windows per forward pass (bounds memory, keeps matrix products efficient)."""


@dataclass(frozen=True)
class VoiceWindow:
    """One embedded window: the speech it covers on the encounter clock, and its voice embedding."""

    t0: float
    t1: float
    embedding: np.ndarray


@dataclass(frozen=True)
class Piece:
    """Consecutive words of a segment with no sentence end or pause between them."""

    first: int
    """Index of its first word in the segment."""
    end: int
    """Index after its last word."""
    t0: float
    t1: float
    embedding: np.ndarray | None
    """Its own voice embedding when it is shorter than a window, else None."""


@dataclass(frozen=True)
class Voices:
    """The voices heard: none, one or two centroids, and why that many."""

    centroids: np.ndarray
    """(voices, 256) unit vectors."""
    shares: tuple[float, ...]
    """Share of the windows nearest each centroid."""
    separation: float | None
    """How cleanly two clusters split the windows (see DiarizationConfig.min_separation)."""
    reason: str

    @property
    def count(self) -> int:
        return len(self.centroids)

    def to_dict(self) -> dict[str, Any]:
        return {
            "voices": self.count,
            "shares": [round(s, 3) for s in self.shares],
            "separation": None if self.separation is None else round(self.separation, 3),
            "reason": self.reason,
        }


NO_VOICES = Voices(np.zeros((0, 256), dtype=np.float32), (), None, "no speech long enough to embed")


def embed_windows(
    utterances: Sequence[Utterance], config: DiarizationConfig = DiarizationConfig()
) -> list[VoiceWindow]:
    """Windows every `hop_s` over each utterance, embedded in batches.

    An utterance shorter than a window gives one window padded with silence, as Resemblyzer
    pads: alone it says less (its pieces are judged from their own frames too), but it keeps
    short answers in the clustering and on the speaker track. Each utterance is brought to the
    encoder's training level on its own (never quieter), so live and offline embed the same
    utterance identically.
    """
    spans: list[tuple[float, float]] = []
    mels: list[np.ndarray] = []
    width = config.window_frames
    hop = max(1, round(config.hop_s / FRAME_S))
    for utterance in utterances:
        mel = _mel(utterance, utterance.t0, utterance.t1)
        if len(mel) < width:
            if len(mel) * FRAME_S >= config.min_window_s:
                spans.append((utterance.t0, utterance.t1))
                mels.append(np.pad(mel, ((0, width - len(mel)), (0, 0))))
            continue
        starts = list(range(0, len(mel) - width + 1, hop))
        if starts[-1] != len(mel) - width:
            starts.append(len(mel) - width)  # the end of the utterance gets a window too
        for s in starts:
            spans.append((utterance.t0 + s * FRAME_S, utterance.t0 + (s + width) * FRAME_S))
            mels.append(mel[s : s + width])
    vectors = _embed(mels, config.batch)
    return [VoiceWindow(t0, t1, vector) for (t0, t1), vector in zip(spans, vectors)]


def _mel(utterance: Utterance, t0: float, t1: float) -> np.ndarray:
    """Mel frames of the utterance audio between encounter times t0 and t1, at the training level."""
    lo = max(0, round((t0 - utterance.audio_t0) * SAMPLE_RATE))
    hi = min(len(utterance.audio), round((t1 - utterance.audio_t0) * SAMPLE_RATE))
    speech = utterance.audio[lo:hi]
    if len(speech) < HOP:
        return np.zeros((0, 40), dtype=np.float32)
    return mel_frames(speech * np.float32(level_gain(speech)))


def _embed(mels: Sequence[np.ndarray], batch: int) -> np.ndarray:
    """Embeddings of mel sequences of any lengths (each from its own frames only)."""
    if not mels:
        return np.zeros((0, 256), dtype=np.float32)
    order = np.argsort([len(m) for m in mels], kind="stable")  # similar lengths share a batch
    out = np.zeros((len(mels), 256), dtype=np.float32)
    encoder = shared_encoder()
    with threadpool_limits(1, user_api="blas"):
        for i in range(0, len(order), batch):
            chosen = order[i : i + batch]
            lengths = np.array([len(mels[k]) for k in chosen])
            stacked = np.zeros((len(chosen), lengths.max(), mels[chosen[0]].shape[1]), dtype=np.float32)
            for row, k in enumerate(chosen):
                stacked[row, : lengths[row]] = mels[k]
            out[chosen] = encoder.embed(stacked, lengths)
    return out


def split_pieces(words: Sequence[dict[str, Any]], gap_s: float) -> list[tuple[int, int]]:
    """Index ranges of a segment's words, cut after a sentence end and at pauses of `gap_s` or more."""
    ranges: list[tuple[int, int]] = []
    first = 0
    for i in range(1, len(words)):
        if words[i - 1]["w"].rstrip().endswith(_SENTENCE_END) or words[i]["t0"] - words[i - 1]["t1"] >= gap_s:
            ranges.append((first, i))
            first = i
    if words:
        ranges.append((first, len(words)))
    return ranges


def embed_pieces(
    pairs: Sequence[tuple[Segment, Utterance]], config: DiarizationConfig = DiarizationConfig()
) -> list[list[Piece]]:
    """Each segment's pieces; those shorter than a window carry their own embedding."""
    layout: list[list[tuple[int, int, float, float]]] = []
    short: list[tuple[int, int]] = []  # (segment, piece) indices of the pieces to embed
    mels: list[np.ndarray] = []
    for n, (segment, utterance) in enumerate(pairs):
        pieces = []
        for first, end in split_pieces(segment.words, config.piece_gap_s):
            t0, t1 = segment.words[first]["t0"], segment.words[end - 1]["t1"]
            pieces.append((first, end, t0, t1))
            if t1 - t0 < config.short_piece_s:
                middle, half = (t0 + t1) / 2, max(t1 - t0, config.min_piece_s) / 2
                mel = _mel(utterance, middle - half, middle + half)
                if len(mel):
                    short.append((n, len(pieces) - 1))
                    mels.append(mel)
        layout.append(pieces)
    vectors = dict(zip(short, _embed(mels, config.batch)))
    return [
        [Piece(first, end, t0, t1, vectors.get((n, k))) for k, (first, end, t0, t1) in enumerate(pieces)]
        for n, pieces in enumerate(layout)
    ]


def cluster(windows: Sequence[VoiceWindow], config: DiarizationConfig = DiarizationConfig()) -> Voices:
    """One or two voices from the windows' embeddings."""
    if not windows:
        return NO_VOICES
    vectors = np.stack([w.embedding for w in windows])
    one = _unit(vectors.mean(axis=0))[None]
    if len(vectors) < config.min_windows:
        return Voices(one, (1.0,), None, f"too little speech yet to tell voices apart ({len(vectors) / 2:.0f} s)")
    labels = _refine(vectors, _spectral_split(vectors), config.refine_iterations)
    if labels.min() == labels.max():
        return Voices(one, (1.0,), None, "one voice: every window sounds alike")
    centroids = np.stack([_unit(vectors[labels == k].mean(axis=0)) for k in (0, 1)])
    shares = tuple(float(np.mean(labels == k)) for k in (0, 1))
    separation = _separation(vectors, labels, centroids)
    if min(shares) < config.min_share:
        reason = f"one voice: the second cluster held only {100 * min(shares):.0f}% of the speech"
    elif separation < config.min_separation:
        reason = f"one voice: splitting the speech in two explains only {100 * separation:.0f}% of its variation"
    else:
        reason = f"two voices: splitting the speech in two explains {100 * separation:.0f}% of its variation"
        return Voices(centroids, shares, separation, reason)
    return Voices(one, (1.0,), separation, reason)


def _unit(v: np.ndarray) -> np.ndarray:
    return v / max(float(np.linalg.norm(v)), 1e-12)


def _separation(vectors: np.ndarray, labels: np.ndarray, centroids: np.ndarray) -> float:
    """Between-cluster share of the variance of the windows' positions on the centroid axis."""
    position = vectors @ (centroids[0] - centroids[1])
    total = float(position.var())
    within = sum(float(position[labels == k].var()) * float(np.mean(labels == k)) for k in (0, 1))
    return 1.0 - within / total if total > 0 else 0.0


def _spectral_split(vectors: np.ndarray) -> np.ndarray:
    """Two groups by the sign of the Fiedler vector of a pruned cosine-affinity graph.

    Each window keeps its most similar tenth as neighbours (symmetrized): the graph then links
    windows of one voice densely and the two voices sparsely, however loud or long each is.
    """
    affinity = vectors @ vectors.T
    n = len(vectors)
    keep = max(2, n // 10)
    threshold = -np.partition(-affinity, keep - 1, axis=1)[:, keep - 1 : keep]
    graph = np.where(affinity >= threshold, np.maximum(affinity, 0.0), 0.0)
    graph = np.maximum(graph, graph.T)
    np.fill_diagonal(graph, 0.0)
    inv_sqrt = 1.0 / np.sqrt(np.maximum(graph.sum(axis=1), 1e-12))
    laplacian = np.eye(n) - inv_sqrt[:, None] * graph * inv_sqrt[None, :]
    _, eigenvectors = np.linalg.eigh(laplacian)
    labels = (eigenvectors[:, 1] * inv_sqrt > 0).astype(int)
    if labels.min() == labels.max():  # a degenerate graph: split along the main axis instead
        centred = vectors - vectors.mean(axis=0)
        labels = (centred @ np.linalg.svd(centred, full_matrices=False)[2][0] > 0).astype(int)
    return labels


def _refine(vectors: np.ndarray, labels: np.ndarray, iterations: int) -> np.ndarray:
    """Spherical k-means from the spectral split: each window to its nearer centroid."""
    for _ in range(iterations):
        if labels.min() == labels.max():
            break
        centroids = np.stack([_unit(vectors[labels == k].mean(axis=0)) for k in (0, 1)])
        updated = np.argmax(vectors @ centroids.T, axis=1)
        if np.array_equal(updated, labels):
            break
        labels = updated
    return labels


class SpeakerTrack:
    """Per 10 ms frame, how much more the windows covering it sound like voice 0 than voice 1
    (cosine to centroid 0 minus cosine to centroid 1, averaged; 0 where no window reaches)."""

    def __init__(self, windows: Sequence[VoiceWindow], voices: Voices) -> None:
        end = max((_frame(w.t1) for w in windows), default=0) + 1
        self._score = np.zeros(end)
        self._weight = np.zeros(end)
        if voices.count == 2:
            for window in windows:
                similarity = voices.centroids @ window.embedding
                a, b = _frame(window.t0), max(_frame(window.t0) + 1, _frame(window.t1))
                weight = _triangle(b - a)
                self._score[a:b] += weight * (similarity[0] - similarity[1])
                self._weight[a:b] += weight

    def score(self, t0: float, t1: float) -> float:
        """Mean over [t0, t1] of the frames windows reach (0 if none do)."""
        a, b = _frame(t0), max(_frame(t0) + 1, _frame(t1))
        weight = self._weight[a:b]
        covered = weight > 0
        return float(np.mean(self._score[a:b][covered] / weight[covered])) if covered.any() else 0.0


def _triangle(n: int) -> np.ndarray:
    """Weights across a window's frames, highest in its middle: a window says most about the
    speech at its centre, least about its edges, where another speaker may begin."""
    return 1.0 - np.abs(np.arange(n) + 0.5 - n / 2) / (n / 2) + 1e-3


def _frame(t: float) -> int:
    return max(0, int(round(t / FRAME_S)))


class RoomDiarizer:
    """Voices of one room track, and the voice of each transcribed word.

    `add` embeds utterances as they are transcribed (all at once offline, one by one live);
    `update` re-clusters everything heard so far; `word_voices` labels a segment's words.
    """

    def __init__(self, config: DiarizationConfig = DiarizationConfig()) -> None:
        self.config = config
        self.windows: list[VoiceWindow] = []
        self.voices = NO_VOICES
        self._pieces: dict[str, list[Piece]] = {}
        self._track = SpeakerTrack([], NO_VOICES)

    @property
    def speech_s(self) -> float:
        """Seconds of speech the windows cover so far (what the voices were estimated from)."""
        return len(self.windows) * self.config.hop_s

    def add(self, pairs: Sequence[tuple[Segment, Utterance]]) -> None:
        """Embed the utterances of final segments (with words): their windows and short pieces."""
        pairs = [(s, u) for s, u in pairs if s.words]
        self.windows += embed_windows([u for _, u in pairs], self.config)
        for (segment, _), pieces in zip(pairs, embed_pieces(pairs, self.config)):
            self._pieces[segment.id] = pieces

    def update(self) -> Voices:
        """Re-estimate the voices from every window so far."""
        self.voices = cluster(self.windows, self.config)
        self._track = SpeakerTrack(self.windows, self.voices)
        return self.voices

    def word_voices(self, segment: Segment) -> list[int | None]:
        """The voice (0 or 1) of each of the segment's words; all None unless two voices were heard."""
        pieces = self._pieces.get(segment.id)
        if self.voices.count < 2 or pieces is None:
            return [None] * len(segment.words)
        labels: list[int | None] = [None] * len(segment.words)
        centroids = self.voices.centroids
        for piece in pieces:
            if piece.embedding is not None:
                own = centroids @ piece.embedding
                score = self._track.score(piece.t0, piece.t1) + float(own[0] - own[1])
                labels[piece.first : piece.end] = [_voice(score)] * (piece.end - piece.first)
                continue
            words = segment.words[piece.first : piece.end]
            voices = [_voice(self._track.score(w["t0"], w["t1"])) for w in words]
            labels[piece.first : piece.end] = _without_short_runs(words, voices, self.config.min_run_s)
        return labels


def _voice(score: float) -> int:
    return 0 if score >= 0 else 1


def _without_short_runs(words: Sequence[dict[str, Any]], voices: list[int], min_run_s: float) -> list[int | None]:
    """Inside one sentence, a run of words shorter than `min_run_s` takes its neighbours' voice.

    Windows that straddle a change of speaker lean the words next to it the wrong way; a real
    change inside a sentence (the transcript missed the full stop) leaves long runs on both sides.
    """
    runs: list[list[int]] = []  # [voice, first, end]
    for i, voice in enumerate(voices):
        if runs and runs[-1][0] == voice:
            runs[-1][2] = i + 1
        else:
            runs.append([voice, i, i + 1])
    while len(runs) > 1:
        lengths = [words[end - 1]["t1"] - words[first]["t0"] for _, first, end in runs]
        shortest = int(np.argmin(lengths))
        if lengths[shortest] >= min_run_s:
            break
        before = lengths[shortest - 1] if shortest > 0 else -1.0
        after = lengths[shortest + 1] if shortest < len(runs) - 1 else -1.0
        neighbour = shortest - 1 if before >= after else shortest + 1
        runs[shortest][0] = runs[neighbour][0]
        merged: list[list[int]] = []
        for run in runs:
            if merged and merged[-1][0] == run[0]:
                merged[-1][2] = run[2]
            else:
                merged.append(run)
        runs = merged
    out: list[int | None] = []
    for voice, first, end in runs:
        out += [voice] * (end - first)
    return out


def speaker_runs(words: Sequence[dict[str, Any]], speakers: Sequence[str]) -> list[tuple[str, list[dict[str, Any]]]]:
    """Consecutive words with the same speaker, in order: where a segment is split."""
    runs: list[tuple[str, list[dict[str, Any]]]] = []
    for word, speaker in zip(words, speakers):
        if runs and runs[-1][0] == speaker:
            runs[-1][1].append(word)
        else:
            runs.append((speaker, [word]))
    return runs
