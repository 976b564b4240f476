package io.fractalrmo.contracts;

/**
 * Header names on {@code fractal.dlq} records. The value is the original bytes, the key the
 * original key; these headers say where it came from and why it was set aside.
 */
public final class DlqHeaders {
  public static final String TOPIC = "fractal.dlq.topic";
  public static final String PARTITION = "fractal.dlq.partition";
  public static final String OFFSET = "fractal.dlq.offset";
  public static final String EXCEPTION_CLASS = "fractal.dlq.exception.class";
  public static final String EXCEPTION_MESSAGE = "fractal.dlq.exception.message";
  public static final String STAGE = "fractal.dlq.stage";
  public static final String AGENT_ID = "fractal.dlq.agent.id";
  /**
   * Present when the original value (and headers) were left out so that the DLQ record fits the
   * broker's size limit: the original value's size in bytes.
   */
  public static final String VALUE_DROPPED = "fractal.dlq.value.dropped";

  private DlqHeaders() {
  }
}
