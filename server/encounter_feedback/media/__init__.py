"""Audio in: decoding files, WebRTC stations, recordings on the encounter clock, synthesized speech."""
