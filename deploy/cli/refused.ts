/** A command refused: it changed nothing, and says why (exit 1). */
export class Refused extends Error {}
