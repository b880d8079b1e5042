import { builder } from "./builder.ts";

// GraphQL spells the values in capitals; the database keeps the Chat SDK's lower case.
export const UserTypeEnum = builder.enumType("UserType", {
  values: { GUEST: { value: "guest" }, REGULAR: { value: "regular" } } as const,
});

export const VisibilityEnum = builder.enumType("Visibility", {
  values: { PUBLIC: { value: "public" }, PRIVATE: { value: "private" } } as const,
});

export const MessageRoleEnum = builder.enumType("MessageRole", {
  values: { USER: { value: "user" }, ASSISTANT: { value: "assistant" }, SYSTEM: { value: "system" } } as const,
});

export const MessageStatusEnum = builder.enumType("MessageStatus", {
  description:
    "COMPLETE: finished normally. STREAMING: still being generated. ABORTED: stopped by stopStream, deleteChat or a shutdown. FAILED: upstream or database failure.",
  values: {
    COMPLETE: { value: "complete" },
    STREAMING: { value: "streaming" },
    ABORTED: { value: "aborted" },
    FAILED: { value: "failed" },
  } as const,
});
