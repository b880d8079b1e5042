// The gateway's stream events turned back into the AI SDK's UIMessageChunks, so
// readUIMessageStream (and useChat) folds a turn into the message the gateway
// stores. Events carry no start/end of a text or reasoning part: a part starts
// with its first delta and ends at its step's end or the turn's end. Files,
// reasoning files, source documents and provider-specific parts have no event:
// they come with the stored message, and are appended when the turn finishes.
import type { UIMessageChunk } from "ai";
import type { ChatMessage, StreamEvent, Usage } from "./stream.ts";

/** What useChat's message.metadata holds once the turn finished. */
export interface GatewayMessageMetadata {
  usage?: Usage;
  finishReason?: string;
}

type Chunk = UIMessageChunk<GatewayMessageMetadata>;

export interface EventChunker {
  /** The chunks for one event (each event once, in seq order). */
  map(event: StreamEvent): Chunk[];
}

export function createEventChunker(): EventChunker {
  // Parts opened in the current step, in the order they opened.
  let openText = new Set<string>();
  let openReasoning = new Set<string>();

  function closeParts(): Chunk[] {
    const chunks: Chunk[] = [
      ...[...openText].map((id): Chunk => ({ type: "text-end", id })),
      ...[...openReasoning].map((id): Chunk => ({ type: "reasoning-end", id })),
    ];
    openText = new Set();
    openReasoning = new Set();
    return chunks;
  }

  function map(event: StreamEvent): Chunk[] {
    switch (event.__typename) {
      case "StreamStarted":
        openText = new Set();
        openReasoning = new Set();
        return [{ type: "start", messageId: event.assistantMessageId }];
      case "StepStarted":
        return [...closeParts(), { type: "start-step" }];
      case "StepFinished":
        return [...closeParts(), { type: "finish-step" }];
      case "StepReset":
        // The fold forgets the step's open parts itself.
        openText = new Set();
        openReasoning = new Set();
        return [{ type: "reset-step" }];
      case "TextDelta": {
        const start: Chunk[] = openText.has(event.partId) ? [] : [{ type: "text-start", id: event.partId }];
        openText.add(event.partId);
        return [...start, { type: "text-delta", id: event.partId, delta: event.delta }];
      }
      case "ReasoningDelta": {
        const open = openReasoning.has(event.partId);
        openReasoning.add(event.partId);
        return [
          ...(open ? [] : [{ type: "reasoning-start", id: event.partId } as const]),
          { type: "reasoning-delta", id: event.partId, delta: event.delta },
        ];
      }
      case "ToolInputStarted":
        return [{ type: "tool-input-start", toolCallId: event.toolCallId, toolName: event.toolName }];
      case "ToolInputDelta":
        return [{ type: "tool-input-delta", toolCallId: event.toolCallId, inputTextDelta: event.delta }];
      case "ToolInputAvailable":
        return [
          { type: "tool-input-available", toolCallId: event.toolCallId, toolName: event.toolName, input: event.input },
        ];
      case "ToolOutputAvailable":
        return [
          {
            type: "tool-output-available",
            toolCallId: event.toolCallId,
            output: event.output,
            ...(event.preliminary ? { preliminary: true } : {}),
          },
        ];
      case "ToolOutputError":
        return [{ type: "tool-output-error", toolCallId: event.toolCallId, errorText: event.errorText }];
      case "ToolApprovalRequested":
        return [
          {
            type: "tool-approval-request",
            toolCallId: event.toolCallId,
            approvalId: event.approvalId,
            ...(event.requestReason === null ? {} : { reason: event.requestReason }),
            ...(event.isAutomatic ? { isAutomatic: true } : {}),
          },
        ];
      case "ToolApprovalResponded":
        return [
          {
            type: "tool-approval-response",
            approvalId: event.approvalId,
            approved: event.approved,
            ...(event.responseReason === null ? {} : { reason: event.responseReason }),
          },
        ];
      case "ToolOutputDenied":
        return [{ type: "tool-output-denied", toolCallId: event.toolCallId }];
      case "SourceUrl":
        return [
          {
            type: "source-url",
            sourceId: event.sourceId,
            url: event.url,
            ...(event.title === null ? {} : { title: event.title }),
          },
        ];
      case "DataDelta":
        return [
          {
            type: `data-${event.name}`,
            data: event.data,
            ...(event.id === null ? {} : { id: event.id }),
            ...(event.transient ? { transient: true } : {}),
          },
        ];
      case "StreamFinished": {
        const metadata: GatewayMessageMetadata = { finishReason: event.finishReason };
        if (event.usage) metadata.usage = event.usage;
        return [
          ...closeParts(),
          ...storedOnly(event.message),
          { type: "finish", finishReason: finishReasonOf(event.finishReason), messageMetadata: metadata },
        ];
      }
      case "StreamAborted":
        return [...closeParts(), ...storedOnly(event.partialMessage), { type: "abort", reason: event.reason }];
      case "StreamFailed":
        // The caller errors the stream with the event's code.
        return [...closeParts(), ...storedOnly(event.partialMessage)];

      default:
        // An event type of a newer gateway: its part arrives with the stored message on reload.
        return [];
    }
  }

  return { map };
}

/** The stored parts no event carries (files, source documents), as chunks. */
function storedOnly(message: ChatMessage | null): Chunk[] {
  return (message?.parts ?? []).flatMap((part): Chunk[] => {
    if (part.__typename === "FilePart") return [{ type: "file", url: part.url, mediaType: part.mediaType }];
    if (part.__typename === "ReasoningFilePart") {
      return [{ type: "reasoning-file", url: part.url, mediaType: part.mediaType }];
    }
    if (part.__typename === "CustomPart") {
      const metadata = part.providerMetadata == null ? {} : { providerMetadata: part.providerMetadata };
      return [{ type: "custom", kind: part.kind as `${string}.${string}`, ...metadata } as Chunk];
    }
    if (part.__typename === "SourceDocumentPart") {
      return [
        {
          type: "source-document",
          sourceId: part.sourceId,
          mediaType: part.mediaType,
          title: part.title ?? "",
          ...(part.filename === null ? {} : { filename: part.filename }),
        },
      ];
    }
    return [];
  });
}

const FINISH_REASONS = ["stop", "length", "content-filter", "tool-calls", "error", "interrupted", "other"] as const;
type FinishReason = (typeof FINISH_REASONS)[number];

function finishReasonOf(reason: string): FinishReason {
  return (FINISH_REASONS as readonly string[]).includes(reason) ? (reason as FinishReason) : "other";
}
