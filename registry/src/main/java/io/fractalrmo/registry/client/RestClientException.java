package io.fractalrmo.registry.client;

/**
 * A registry answered with an error: the HTTP status and Confluent's {@code error_code}
 * (e.g. 40401 subject not found, 40403 schema not found, 409 incompatible, 42201 invalid schema).
 */
public final class RestClientException extends Exception {

  private final int status;
  private final int errorCode;

  public RestClientException(int status, int errorCode, String message) {
    super(message + " (HTTP " + status + ", error_code " + errorCode + ")");
    this.status = status;
    this.errorCode = errorCode;
  }

  public int status() {
    return status;
  }

  public int errorCode() {
    return errorCode;
  }
}
