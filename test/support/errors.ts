// The ChatbotError code a failing call produces, for tests that assert on codes.
import { isChatbotError } from "../../core/errors.js";

/** The ChatbotError code a promise rejects with (fails the test if it resolves or throws something else). */
export async function errorCode(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (isChatbotError(error)) return error.code;
    throw error;
  }
  throw new Error("expected a ChatbotError, but the call succeeded");
}
