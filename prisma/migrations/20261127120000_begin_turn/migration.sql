-- Step 1 of a streaming turn as one statement (src/db/turn-queries.ts, beginTurn):
-- one round trip instead of a transaction of five, because it sits on the path
-- to the first delta. A volatile PL/pgSQL function takes a fresh snapshot per
-- statement, so the quota count after the user's row lock sees every
-- committed send; the call is atomic, so a refusal or a failure writes nothing.
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
  p_now timestamp
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
  IF (SELECT count(*) FROM (SELECT 1 FROM "Message"
        WHERE "userId" = p_user_id AND role = 'user' AND "createdAt" >= p_quota_since
        LIMIT p_quota_limit) used) >= p_quota_limit THEN
    RETURN json_build_object('refusal', 'quota');
  END IF;
  IF EXISTS (SELECT 1 FROM "Message" WHERE id = p_message_id) THEN
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
  INSERT INTO "Stream" (id, "chatId", "createdAt", status)
  VALUES (p_stream_id, p_chat_id, v_message."createdAt", 'active');

  RETURN json_build_object(
    'chat', row_to_json(v_chat),
    'existing', v_existing,
    'message', row_to_json(v_message)
  );
END;
$$;
