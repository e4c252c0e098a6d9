"""The experts behind the model tools: the request/reply protocol (`base`), the calibrated
profiles of every model — abilities, prices, speeds, tiers (`profiles`, `profiles.json`) — the
simulated experts (`simulated`), real models through a backend (`live`, `backends/`)."""
