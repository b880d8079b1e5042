-- Whose usage Chat.lastContext holds: the start time of that turn (its Stream
-- row's createdAt). Two turns of one chat may run at once (two tabs); the one
-- that stores last is not always the later one, and only a turn at least as
-- late as the one whose usage is stored may replace it. Null (chats from before
-- this migration, or after the turn whose usage it was went with an edit): any
-- turn's usage may be stored.
ALTER TABLE "Chat" ADD COLUMN "lastContextAt" TIMESTAMP(3);
