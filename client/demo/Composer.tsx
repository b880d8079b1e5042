// The message box of both demo pages: Enter sends, Shift+Enter is a new line,
// a character count against the gateway's limit, and Stop while an answer streams.
import type { FormEvent, KeyboardEvent } from "react";
import { charCount, MAX_MESSAGE_CHARS } from "./refusal.ts";

export interface ComposerProps {
  text: string;
  onText(text: string): void;
  /** Called with the trimmed text; the page decides whether to clear the box. */
  onSend(text: string): void;
  isStreaming: boolean;
  onStop(): void;
}

export function Composer({ text, onText, onSend, isStreaming, onStop }: ComposerProps) {
  const over = text.length > MAX_MESSAGE_CHARS;
  const submit = (event?: FormEvent) => {
    event?.preventDefault();
    const content = text.trim();
    if (content && !isStreaming) onSend(content);
  };
  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.key === "Enter" && !event.shiftKey) submit(event);
  };
  return (
    <form className="composer" onSubmit={submit}>
      <div className="composer-box">
        <textarea
          data-testid="composer"
          value={text}
          placeholder="Message (Enter sends, Shift+Enter for a new line)"
          rows={2}
          aria-invalid={over}
          onChange={(e) => onText(e.target.value)}
          onKeyDown={onKeyDown}
        />
        <span className={over ? "char-count over" : "char-count"} data-testid="char-count" data-over={over}>
          {charCount(text)}
          {over && " (too long to send)"}
        </span>
      </div>
      {isStreaming ? (
        <button type="button" data-testid="stop" onClick={onStop}>
          Stop
        </button>
      ) : (
        <button type="submit" data-testid="send" disabled={!text.trim()}>
          Send
        </button>
      )}
    </form>
  );
}
