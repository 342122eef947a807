"""The browser UI and HTTP API: thin over the library (`painterly serve`)."""
