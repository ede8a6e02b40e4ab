"""What the transcript and the voices mean: turns, racially charged moments, replies, prosody, rapport cues, summaries.

Pure functions and small stateful trackers over segments and audio clips; nothing here touches
transport, the clock or the store."""
