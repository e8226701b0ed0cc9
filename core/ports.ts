// The seams between the pure core and the adapters.

/** A structured logger (pino's calling convention). */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  child(bindings: object): Logger;
}

export const silentLogger: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  child: () => silentLogger,
};

/** A durable publish: resolves only once the broker has stored the message (its PubAck). */
export interface DurablePublisher {
  /** `correlationId`: what caused the message, carried in a header (`CORRELATION_HEADER`). */
  publish(
    subject: string,
    payload: Uint8Array,
    msgId: string,
    correlationId?: string,
  ): Promise<void>;
}
