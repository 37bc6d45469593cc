"""Audio for keyword spotting: features (log-mel, MFCC), noise, and the speech_commands-style
batch generator."""

from .features import hz_to_mel, log_mel, mel_filterbank, mel_to_hz, mfcc

__all__ = ["hz_to_mel", "log_mel", "mel_filterbank", "mel_to_hz", "mfcc"]
