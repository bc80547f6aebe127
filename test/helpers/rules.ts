/** A before-send rule, as a rules file writes it, masking a mainland mobile number as `***`. */
export const REDACT_PHONE = {
  id: "redact-phone",
  on: "before-send",
  match: { text: "1[3-9]\\d{9}" },
  action: { redact: { pattern: "1[3-9]\\d{9}", mask: "***" } },
};
