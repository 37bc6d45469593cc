"""Audio for keyword spotting: features (log-mel, MFCC), noise, the speech_commands-style
batch generator (``batches``), synthetic voices for training (``synth``: espeak-ng, flite) and
the unknown-word and background-noise corpus (``corpus``: Debian's asterisk prompts and music,
generated noise, babble)."""

from .features import hz_to_mel, log_mel, mel_filterbank, mel_to_hz, mfcc

__all__ = ["hz_to_mel", "log_mel", "mel_filterbank", "mel_to_hz", "mfcc"]
