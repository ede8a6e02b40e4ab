"""Speech to text: voice activity and endpointing, Whisper engines, the shared decode scheduler, live streaming."""
