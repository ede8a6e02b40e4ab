"""The two drivers of one pipeline: live encounters (WebRTC in real time) and offline analysis of recordings."""
