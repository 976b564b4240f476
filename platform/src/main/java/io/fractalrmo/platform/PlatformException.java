package io.fractalrmo.platform;

/**
 * A failure to start or stop a piece of the embedded platform, with a message written for the
 * person who ran the command: what went wrong and what to do about it.
 */
public class PlatformException extends RuntimeException {

  public PlatformException(String message) {
    super(message);
  }

  public PlatformException(String message, Throwable cause) {
    super(message, cause);
  }
}
