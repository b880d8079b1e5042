import type { Vote } from "../generated/prisma/client.ts";
import { dbCall, type Queryable } from "./queryable.ts";

/** Records the vote, replacing an earlier one on the same message. */
export function voteMessage(
  db: Queryable,
  vote: { chatId: string; messageId: string; isUpvoted: boolean },
): Promise<Vote> {
  return dbCall("voteMessage", () =>
    db.vote.upsert({
      where: { chatId_messageId: { chatId: vote.chatId, messageId: vote.messageId } },
      create: vote,
      update: { isUpvoted: vote.isUpvoted },
    }),
  );
}

/** The votes on those of `chatIds` that `userId` owns, in one query (votes stay private to a chat's owner). */
export function getVotesOfOwnChats(db: Queryable, args: { chatIds: string[]; userId: string }): Promise<Vote[]> {
  return dbCall("getVotesOfOwnChats", () =>
    db.vote.findMany({ where: { chatId: { in: args.chatIds }, chat: { userId: args.userId } } }),
  );
}
