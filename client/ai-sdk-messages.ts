// Stored messages (the Chat query's MessageFields) as AI SDK UIMessages: the
// initial `messages` of useChat, so a reloaded chat shows its history and a
// replayed turn replaces its own stored answer (same id).
import type { UIMessage } from "ai";
import type { ChatMessage, MessagePart, MessagePartOf } from "./stream.ts";

type UIPart = UIMessage["parts"][number];

const ROLES = { USER: "user", ASSISTANT: "assistant", SYSTEM: "system" } as const;

export function toUIMessages(messages: readonly ChatMessage[]): UIMessage[] {
  return messages.map((message) => ({
    id: message.id,
    role: ROLES[message.role],
    parts: message.parts.flatMap((part) => toUIPart(part) ?? []),
  }));
}

/** The part as the AI SDK's; null for a part type of a newer gateway. */
function toUIPart(part: MessagePart): UIPart | null {
  switch (part.__typename) {
    case "TextPart":
      return { type: "text", text: part.text, state: "done" };
    case "ReasoningPart":
      return { type: "reasoning", text: part.text, state: "done" };
    case "ToolPart":
      // The union of tool states is not narrowed by a runtime string: the stored part is passed as it is.
      return {
        type: `tool-${part.toolName}`,
        toolCallId: part.toolCallId,
        state: part.state,
        input: part.input,
        output: part.output ?? undefined,
        errorText: part.errorText ?? undefined,
        ...(part.approval ? { approval: approvalOf(part.approval) } : {}),
      } as UIPart;
    case "FilePart":
      return {
        type: "file",
        mediaType: part.mediaType,
        url: part.url,
        ...(part.filename === null ? {} : { filename: part.filename }),
      };
    case "ReasoningFilePart":
      return { type: "reasoning-file", mediaType: part.mediaType, url: part.url };
    case "CustomPart":
      return {
        type: "custom",
        kind: part.kind as `${string}.${string}`,
        ...(part.providerMetadata == null ? {} : { providerMetadata: part.providerMetadata }),
      } as UIPart;
    case "SourceUrlPart":
      return { type: "source-url", sourceId: part.sourceId, url: part.url, title: part.title ?? undefined };
    case "SourceDocumentPart":
      return {
        type: "source-document",
        sourceId: part.sourceId,
        mediaType: part.mediaType,
        title: part.title ?? "",
        filename: part.filename ?? undefined,
      };
    case "DataPart":
      return { type: `data-${part.name}`, ...(part.id === null ? {} : { id: part.id }), data: part.data };
    case "StepStartPart":
      return { type: "step-start" };
    default:
      return null;
  }
}

type Approval = NonNullable<MessagePartOf<"ToolPart">["approval"]>;

/** The AI SDK's approval object: only the keys that hold a value (its schema refuses nulls). */
function approvalOf(approval: Approval) {
  const { id, approved, requestReason, reason, isAutomatic } = approval;
  return {
    id,
    ...(approved === null ? {} : { approved }),
    ...(requestReason === null ? {} : { requestReason }),
    ...(reason === null ? {} : { reason }),
    ...(isAutomatic === null ? {} : { isAutomatic }),
  };
}
