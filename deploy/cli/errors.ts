// How an operator command fails, each with its exit code (README, "The CLI"): 1 refused or failed,
// 2 bad usage or configuration, 3 rtws unreachable.

/** Bad arguments: the message, then the usage (exit 2). */
export class UsageError extends Error {}

/** rtws answered with an error: its status and what it said (exit 1). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** No answer from rtws at all (exit 3). */
export class Unreachable extends Error {}
