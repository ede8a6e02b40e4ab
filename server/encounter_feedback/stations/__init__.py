"""The station side: an API client and the replay of recordings into a live encounter over WebRTC."""
