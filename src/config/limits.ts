// Bounds the schema enforces at its edge that are not configurable. The
// configurable ones (MAX_TEXT_LENGTH, MAX_PARTS_PER_MESSAGE,
// MAX_MESSAGES_PER_CALL, MAX_PAGE_SIZE) are read from the Env the app was
// created with, through the resolver context.
export const fixedLimits = {
  maxTitleLength: 255,
  /** Whole-message JSON (tool inputs and outputs included) in UTF-8 bytes. */
  maxPartsBytes: 200_000,
  maxUrlLength: 2048,
} as const;

/** The configurable bounds of an Env. */
export type MessageLimits = {
  MAX_TEXT_LENGTH: number;
  MAX_PARTS_PER_MESSAGE: number;
};
