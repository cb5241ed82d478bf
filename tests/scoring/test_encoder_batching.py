"""The encoder's vectors do not depend on which sentences share a batch (the speed-ups rely on it)."""

from __future__ import annotations

import numpy as np

from coachhub.core.encoder import get_encoder

SENTENCES = [
    "Sorry.",
    "What's the order number?",
    "I can see the photos from your first report, so you won't need to send them again.",
    "So the replacement arrived cracked as well, and you've been without a machine for a week?",
    "I'll email you the tracking number before 6 pm today, and I'm adding a $15 credit for the trouble.",
    "Thanks.",
    "It sounds like the worst part is not knowing when it will finally be fixed, after three calls.",
]


def test_sentences_read_together_get_the_same_vectors_as_read_alone():
    encoder = get_encoder()
    encoder.clear_cache()
    together = encoder.encode(SENTENCES)
    for row, sentence in enumerate(SENTENCES):
        encoder.clear_cache()
        alone = encoder.encode([sentence])[0]
        assert np.array_equal(alone, together[row]), sentence
    encoder.clear_cache()
    in_pairs = np.vstack(
        [encoder.encode(SENTENCES[i : i + 2], batch_size=2) for i in range(0, len(SENTENCES), 2)]
    )
    assert np.array_equal(in_pairs, together)
