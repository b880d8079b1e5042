-- A deleted chat's id is never taken again: a link to a public chat its owner
-- deleted would otherwise show whatever chat someone else made with that id.
-- Every delete of a chat (deleteChat, a user's removal) leaves its id here;
-- createChat and begin_turn refuse such an id as taken.
CREATE TABLE "DeletedChat" (
  "id" UUID NOT NULL,
  "deletedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
  CONSTRAINT "DeletedChat_pkey" PRIMARY KEY ("id")
);

CREATE FUNCTION remember_deleted_chat() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO "DeletedChat" (id) VALUES (OLD.id) ON CONFLICT (id) DO NOTHING;
  RETURN OLD;
END;
$$;

CREATE TRIGGER "Chat_remember_deleted" AFTER DELETE ON "Chat"
  FOR EACH ROW EXECUTE FUNCTION remember_deleted_chat();

-- Whoever inserts (an instance of an earlier version in a rolling deploy too):
-- a deleted chat's id is refused as an id already held.
CREATE FUNCTION refuse_deleted_chat_id() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM "DeletedChat" WHERE id = NEW.id) THEN
    RAISE EXCEPTION 'chat id % belonged to a deleted chat', NEW.id USING ERRCODE = 'unique_violation';
  END IF;
  RETURN NEW;
END;
$$;

CREATE TRIGGER "Chat_refuse_deleted_id" BEFORE INSERT ON "Chat"
  FOR EACH ROW EXECUTE FUNCTION refuse_deleted_chat_id();

-- begin_turn as in 20261203140000_one_home_per_rule, refusing a deleted chat's id.
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
    IF EXISTS (SELECT 1 FROM "DeletedChat" WHERE id = p_chat_id) THEN
      RETURN json_build_object('refusal', 'chat-id-taken');
    END IF;
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
