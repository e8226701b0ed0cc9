// The org's daily allocation of delivered events (`DailyDeliveredPlatformEvents` in `/limits`):
// every event handed to a CometD subscriber counts once per subscriber and channel. When it is
// used up, Salesforce ends the subscriber's connection with
// `403::Organization total events daily limit exceeded`; events go on being stored meanwhile.

export interface DeliveryStats {
  readonly deliveredEvents: number;
  readonly dailyDeliveredEventLimit: number;
}

export class DeliveryAllocation {
  private used = 0;
  private day = currentDay();

  constructor(private limit: number) {}

  remaining(): number {
    this.rollOver();
    return Math.max(0, this.limit - this.used);
  }

  count(delivered: number): void {
    this.rollOver();
    this.used += delivered;
  }

  setLimit(limit: number): void {
    this.limit = limit;
  }

  /** Sets the deliveries counted so far today, as if other subscribers of the org had had them. */
  setUsed(used: number): void {
    this.rollOver();
    this.used = used;
  }

  stats(): DeliveryStats {
    this.rollOver();
    return { deliveredEvents: this.used, dailyDeliveredEventLimit: this.limit };
  }

  reset(): void {
    this.used = 0;
  }

  // The real allocation is a rolling 24 hours; a calendar day in UTC is close enough here.
  private rollOver(): void {
    const today = currentDay();
    if (today === this.day) return;
    this.day = today;
    this.used = 0;
  }
}

function currentDay(): string {
  return new Date().toISOString().slice(0, 10);
}
