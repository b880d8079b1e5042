-- A stop asked for on another instance, kept on the turn's row: its owner
-- reads it when it renews its lease, so a stop its instance missed on the
-- Redis channel (a reconnect, an outage) still reaches the turn.
ALTER TABLE "Stream" ADD COLUMN "stopRequested" TEXT;
