-- The quota's measure in one place: the user messages a user sent since a
-- time, counted no further than p_limit when one is given. begin_turn (the
-- turn) and getMessageCountByUserId (saveMessages, messagesLeftToday) both
-- count with it, so the rule cannot drift apart between them.
CREATE OR REPLACE FUNCTION user_message_count(p_user_id text, p_since timestamp, p_limit integer DEFAULT NULL)
RETURNS integer
-- PL/pgSQL, not SQL: a SQL function with a FROM clause is not inlined, and
-- would be planned again on every begin_turn (0.1 ms, measured); PL/pgSQL
-- keeps its plan for the connection.
LANGUAGE plpgsql STABLE AS $$
BEGIN
  RETURN (SELECT count(*)::integer FROM (
    SELECT 1 FROM "Message"
     WHERE "userId" = p_user_id AND role = 'user' AND "createdAt" >= p_since
     LIMIT p_limit
  ) used);
END;
$$;

-- begin_turn as in 20261127120000_begin_turn, counting with user_message_count.
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
  IF user_message_count(p_user_id, p_quota_since, p_quota_limit) >= p_quota_limit THEN
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
