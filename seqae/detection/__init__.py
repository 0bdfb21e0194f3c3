"""The detection stage: from a long series to anomalous intervals (between training and the
harness; it calls models and training, never the harness)."""

from seqae.detection.detector import THRESHOLDS, SeriesDetector, choose_window

__all__ = ["THRESHOLDS", "SeriesDetector", "choose_window"]
