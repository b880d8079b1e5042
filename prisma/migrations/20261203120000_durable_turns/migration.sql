-- Durable turns: the Stream row names its assistant message and carries the
-- owner lease (which instance runs the turn, and when it last said so), and
-- begin_turn stores the assistant message as STREAMING in the same statement,
-- so from the first event on every instance shows the turn running.
ALTER TABLE "Stream" ADD COLUMN "assistantMessageId" UUID;
ALTER TABLE "Stream" ADD COLUMN "ownerId" TEXT;
ALTER TABLE "Stream" ADD COLUMN "heartbeatAt" TIMESTAMP(3);

-- The sweep's question: which active turns has their owner stopped heartbeating.
CREATE INDEX "Stream_status_heartbeatAt_idx" ON "Stream"("status", "heartbeatAt");

DROP FUNCTION IF EXISTS begin_turn(text, timestamp, integer, uuid, text, "Visibility", uuid, jsonb, uuid, timestamp);

-- begin_turn as in 20261127160000_user_message_count, plus the STREAMING
-- assistant message (after the user message) and the owner lease on the Stream row.
CREATE OR REPLACE FUNCTION begin_turn(
  p_user_id text,
  p_quota_since timestamp,
  p_quota_limit integer,
  p_chat_id uuid,
  p_title text,
  p_visibility "Visibility",
  p_message_id uuid,
  p_parts jsonb,
  p_stream_id uuid,
  p_now timestamp,
  p_assistant_message_id uuid,
  p_owner_id text
) RETURNS json
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  v_chat "Chat";
  v_existing json := '[]'::json;
  v_message "Message";
BEGIN
  -- Every writer of a user's messages takes this lock first, so sends queue here.
  PERFORM 1 FROM "User" WHERE id = p_user_id FOR UPDATE;

  -- Counts no further than the limit: the work stays bounded by the quota.
  IF user_message_count(p_user_id, p_quota_since, p_quota_limit) >= p_quota_limit THEN
    RETURN json_build_object('refusal', 'quota');
  END IF;
  IF EXISTS (SELECT 1 FROM "Message" WHERE id IN (p_message_id, p_assistant_message_id)) THEN
    RETURN json_build_object('refusal', 'message-id-taken');
  END IF;

  SELECT * INTO v_chat FROM "Chat" WHERE id = p_chat_id;
  IF NOT FOUND THEN
    INSERT INTO "Chat" (id, "userId", title, visibility, "createdAt")
    VALUES (p_chat_id, p_user_id, p_title, p_visibility, p_now)
    ON CONFLICT (id) DO NOTHING
    RETURNING * INTO v_chat;
    -- Another request created this id first (the insert waited for it): read its row.
    IF NOT FOUND THEN
      SELECT * INTO v_chat FROM "Chat" WHERE id = p_chat_id FOR UPDATE;
    END IF;
  END IF;
  IF v_chat.id IS NULL OR v_chat."userId" <> p_user_id THEN
    RETURN json_build_object('refusal', 'forbidden');
  END IF;

  SELECT coalesce(json_agg(m ORDER BY m."createdAt", m.id), '[]'::json) INTO v_existing
    FROM (SELECT id, "chatId", "userId", role, parts, attachments, status, "createdAt"
            FROM "Message" WHERE "chatId" = p_chat_id) m;

  -- After every message of the chat, whatever the clocks say.
  INSERT INTO "Message" (id, "chatId", "userId", role, parts, attachments, status, "createdAt")
  VALUES (p_message_id, p_chat_id, p_user_id, 'user', p_parts, '[]'::jsonb, 'complete',
          GREATEST(p_now, (SELECT max("createdAt") + interval '1 millisecond' FROM "Message" WHERE "chatId" = p_chat_id)))
  RETURNING * INTO v_message;
  INSERT INTO "Message" (id, "chatId", "userId", role, parts, attachments, status, "createdAt")
  VALUES (p_assistant_message_id, p_chat_id, p_user_id, 'assistant', '[]'::jsonb, '[]'::jsonb, 'streaming',
          v_message."createdAt" + interval '1 millisecond');
  INSERT INTO "Stream" (id, "chatId", "createdAt", status, "assistantMessageId", "ownerId", "heartbeatAt")
  VALUES (p_stream_id, p_chat_id, v_message."createdAt", 'active', p_assistant_message_id, p_owner_id,
          clock_timestamp() AT TIME ZONE 'UTC');

  RETURN json_build_object(
    'chat', row_to_json(v_chat),
    'existing', v_existing,
    'message', row_to_json(v_message)
  );
END;
$$;
