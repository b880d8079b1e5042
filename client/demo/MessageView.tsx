// How the demo shows a stored (or live) message of the typed client: each
// part type distinctly, with the message's status as a badge.
import type { ChatMessage, MessagePart } from "../stream.ts";

const STATUS_LABEL: Record<ChatMessage["status"], string | null> = {
  COMPLETE: null,
  STREAMING: "streaming…",
  ABORTED: "stopped",
  FAILED: "failed",
};

export function Message({ message }: { message: ChatMessage }) {
  const label = STATUS_LABEL[message.status];
  return (
    <article
      className={`message ${message.role.toLowerCase()}`}
      data-testid="message"
      data-role={message.role}
      data-status={message.status}
      data-message-id={message.id}
    >
      <header>
        {message.role === "USER" ? "You" : message.role === "ASSISTANT" ? "Assistant" : "System"}
        {/* The space keeps "Assistant stopped" two words for screen readers and copy-paste. */}
        {label && (
          <>
            {" "}
            <span className={`badge ${message.status.toLowerCase()}`}>{label}</span>
          </>
        )}
      </header>
      {message.parts.map((part, i) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: parts have no ids, and a message's parts only grow at the end.
        <Part key={i} part={part} />
      ))}
    </article>
  );
}

function json(value: unknown): string {
  if (typeof value === "string") return value;
  const compact = JSON.stringify(value);
  return compact.length <= 80 ? compact : JSON.stringify(value, null, 2);
}

function Part({ part }: { part: MessagePart }) {
  switch (part.__typename) {
    case "TextPart":
      return (
        <div className="part text" data-part="text">
          {part.text}
        </div>
      );
    case "ReasoningPart":
      return (
        <details className="part reasoning" data-part="reasoning" open>
          <summary>Reasoning</summary>
          <div>{part.text}</div>
        </details>
      );
    case "ToolPart":
      return (
        <div className="part tool" data-part="tool" data-state={part.state}>
          <div className="tool-head">
            Tool <code>{part.toolName}</code> <span className="muted">{TOOL_STATES[part.state] ?? part.state}</span>
          </div>
          {part.input != null && (
            <div data-part="tool-input">
              <span className="label">input</span>
              <pre>{json(part.input)}</pre>
            </div>
          )}
          {part.output != null && (
            <div data-part="tool-output">
              <span className="label">output</span>
              <pre>{json(part.output)}</pre>
            </div>
          )}
          {part.errorText && <p className="error">{part.errorText}</p>}
          {part.approval && (
            <p className="muted" data-part="tool-approval">
              {part.approval.approved === null
                ? "Waiting for approval"
                : part.approval.approved
                  ? "Approved"
                  : "Denied"}
              {part.approval.requestReason && `: ${part.approval.requestReason}`}
            </p>
          )}
        </div>
      );
    case "SourceUrlPart":
      return (
        <div className="part source" data-part="source">
          Source:{" "}
          <a href={part.url} target="_blank" rel="noreferrer">
            {part.title ?? part.url}
          </a>
        </div>
      );
    case "SourceDocumentPart":
      return (
        <div className="part source" data-part="source">
          Source: {part.title ?? part.filename ?? part.sourceId}
        </div>
      );
    case "FilePart":
      return (
        <div className="part file" data-part="file">
          <a href={part.url} target="_blank" rel="noreferrer">
            {part.filename ?? part.mediaType}
          </a>
        </div>
      );
    case "DataPart":
      return (
        <pre className="part data" data-part="data">
          {part.name}: {json(part.data)}
        </pre>
      );
    default:
      // Step boundaries, reasoning files and provider-specific parts: nothing to show.
      return null;
  }
}

/** A tool call's state in words (the AI SDK's names stay in data-state). */
export const TOOL_STATES: Record<string, string> = {
  "input-streaming": "preparing its input",
  "input-available": "called",
  "approval-requested": "waiting for approval",
  "approval-responded": "approval answered",
  "output-available": "done",
  "output-error": "failed",
  "output-denied": "denied",
};
