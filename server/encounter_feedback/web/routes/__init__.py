"""The API's routes, one router per concern: encounters, stations (WebRTC offers), notes, exports,
the event stream (WebSocket), the taxonomy and the server's status. `web/app.py` includes them."""
