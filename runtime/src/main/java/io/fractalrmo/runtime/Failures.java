package io.fractalrmo.runtime;

import java.io.IOException;
import java.sql.SQLException;
import java.sql.SQLRecoverableException;
import java.sql.SQLTransientException;
import org.apache.kafka.common.errors.AuthenticationException;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.FencedInstanceIdException;
import org.apache.kafka.common.errors.InvalidProducerEpochException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.common.errors.SecurityDisabledException;
import org.apache.kafka.common.errors.TransactionalIdAuthorizationException;
import org.apache.kafka.common.errors.UnsupportedForMessageFormatException;
import org.apache.kafka.common.errors.UnsupportedVersionException;

/**
 * The one classification of failures, pure and tested on its own. Kafka's exceptions are grouped
 * as parallel-consumer's {@code ProducerManager} does (terminal before retriable), looking through
 * the causes: a {@code SerializationException} caused by a {@code ConnectException} is the
 * registry being down (transient), one caused by an {@code EOFException} is a truncated record
 * (poison).
 */
public final class Failures {

  private static final int MAX_DEPTH = 10;

  private Failures() {
  }

  public static FailureKind classify(Throwable e) {
    if (isFatal(e)) {
      return FailureKind.FATAL;
    }
    return isTransient(e) ? FailureKind.TRANSIENT : FailureKind.POISON;
  }

  /**
   * True when the client or this instance cannot continue: authentication or authorization
   * refused, a fenced producer or static member (a newer instance with the same identity runs),
   * an unsupported protocol, or a JVM {@link Error}.
   */
  public static boolean isFatal(Throwable e) {
    int depth = 0;
    for (Throwable t = e; t != null && depth++ < MAX_DEPTH; t = t.getCause()) {
      if (t instanceof FatalException) {
        return true;
      }
      if (t instanceof TransientException) {
        return false;
      }
      if (t instanceof AuthenticationException || t instanceof AuthorizationException
          || t instanceof TransactionalIdAuthorizationException
          || t instanceof SecurityDisabledException
          || t instanceof ProducerFencedException || t instanceof InvalidProducerEpochException
          || t instanceof FencedInstanceIdException
          || t instanceof UnsupportedVersionException
          || t instanceof UnsupportedForMessageFormatException
          || t instanceof VirtualMachineError || t instanceof LinkageError) {
        return true;
      }
    }
    return false;
  }

  /**
   * True for a failure that says nothing about the record: the registry, broker or database could
   * not be reached or timed out (plain {@link IOException}s of the registry client, socket and
   * HTTP timeouts, Kafka retriable errors, SQL connection/resource/serialization failures). Such
   * work is retried (bounded) instead of set aside. Truncated or corrupt bytes
   * ({@link java.io.EOFException}, Avro errors) are not transient.
   */
  public static boolean isTransient(Throwable e) {
    int depth = 0;
    for (Throwable t = e; t != null && depth++ < MAX_DEPTH; t = t.getCause()) {
      if (t instanceof TransientException) {
        return true;
      }
      if (t instanceof java.net.SocketException || t instanceof java.net.SocketTimeoutException
          || t instanceof java.net.UnknownHostException
          || t instanceof java.net.http.HttpTimeoutException
          || t instanceof java.net.http.HttpConnectTimeoutException
          || t instanceof RetriableException
          || t instanceof SQLTransientException || t instanceof SQLRecoverableException
          || (t instanceof SQLException s && isTransientSqlState(s.getSQLState()))
          || t.getClass() == IOException.class) {
        return true;
      }
    }
    return false;
  }

  /**
   * SQLSTATE classes that are about the database, not the row: 08 (connection), 53 (insufficient
   * resources), 57 (operator intervention, e.g. 57P01 admin shutdown), 40001/40P01 (serialization
   * failure, deadlock: retry the transaction).
   */
  static boolean isTransientSqlState(String state) {
    return state != null && (state.startsWith("08") || state.startsWith("53")
        || state.startsWith("57") || state.equals("40001") || state.equals("40P01"));
  }

  /** The message with its causes, bounded: what a person needs to see why something failed. */
  public static String describe(Throwable error, int maxChars) {
    StringBuilder text = new StringBuilder(error.getClass().getName()).append(": ")
        .append(error.getMessage());
    Throwable cause = error.getCause();
    int depth = 0;
    while (cause != null && cause != error && depth++ < 5 && text.length() < maxChars) {
      text.append("; caused by ").append(cause.getClass().getName()).append(": ")
          .append(cause.getMessage());
      cause = cause.getCause();
    }
    return text.length() > maxChars ? text.substring(0, maxChars) : text.toString();
  }
}
