-- One home per rule: a message's time and the user's lock and quota check are
-- each one SQL function, called by begin_turn, the turn's final store and
-- saveMessages alike. And begin_turn leaves running answers out of the model's
-- context.

-- A chat's next message time: `p_now`, or just after the chat's latest message
-- when that is later (clocks of several instances disagree), so messages read
-- back in the order they were stored. Callers hold the chat's lock (or the
-- user's, which every writer of the chat takes first).
CREATE FUNCTION next_message_time(p_chat_id uuid, p_now timestamp)
RETURNS timestamp
LANGUAGE sql STABLE AS $$
  SELECT GREATEST(p_now, (SELECT max("createdAt") + interval '1 millisecond' FROM "Message" WHERE "chatId" = p_chat_id))
$$;

-- begin_turn as in 20261203120000_durable_turns, with the two rules above and
-- without STREAMING rows in `existing`.
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
  -- The user's lock (every writer of a user's messages takes it first, so
  -- sends queue here) and the quota's check, as saveMessages takes them.
  IF NOT reserve_quota(p_user_id, p_quota_since, p_quota_limit, 1) THEN
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

  -- The model's context: the chat's stored messages, without the answers of
  -- turns still running (their STREAMING rows are partial and still changing).
  SELECT coalesce(json_agg(m ORDER BY m."createdAt", m.id), '[]'::json) INTO v_existing
    FROM (SELECT id, "chatId", "userId", role, parts, attachments, status, "createdAt"
            FROM "Message" WHERE "chatId" = p_chat_id AND status <> 'streaming') m;

  INSERT INTO "Message" (id, "chatId", "userId", role, parts, attachments, status, "createdAt")
  VALUES (p_message_id, p_chat_id, p_user_id, 'user', p_parts, '[]'::jsonb, 'complete',
          next_message_time(p_chat_id, p_now))
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
