package io.fractalrmo.connectors.sink;

import java.sql.SQLException;
import java.util.Locale;

/**
 * What the sink does about a failed statement, decided by its SQLSTATE (PostgreSQL's error codes,
 * Appendix A of its manual). A pure function, so the policy can be read and tested in one place.
 */
enum SqlErrors {

  /**
   * The record cannot be stored as it is (classes 22 data exception, 23 integrity constraint
   * violation, 54 program limit exceeded — e.g. a key too long for its index): it goes to the DLQ
   * with the SQL state and the sink moves on.
   */
  BAD_ROW,
  /**
   * Worth trying again soon, a bounded number of times (classes 40 transaction rollback —
   * serialization failure, deadlock; 53 insufficient resources; 58 system error; 55P03 lock not
   * available; 57014 statement cancelled by a timeout).
   */
  TRANSIENT,
  /**
   * The database cannot be reached or is going away (class 08 connection exception, 57P01-57P05
   * administrator/crash shutdown, cannot connect now, idle session timeout): the sink is DEGRADED
   * and waits, without a bound, for it to come back; nothing is committed meanwhile.
   */
  UNAVAILABLE,
  /**
   * Anything else (syntax or access rule violations, a missing table, bad credentials, internal
   * errors): no retry fixes it; the sink stops with the cause.
   */
  FATAL;

  static SqlErrors classify(SQLException e) {
    return classify(e.getSQLState());
  }

  static SqlErrors classify(String sqlState) {
    if (sqlState == null || sqlState.length() != 5) {
      // The driver raises connection failures with a state; a stateless one is its own bug or an
      // I/O problem below it: worth a bounded retry, not a silent endless one.
      return TRANSIENT;
    }
    String state = sqlState.toUpperCase(Locale.ROOT);
    String sqlClass = state.substring(0, 2);
    switch (sqlClass) {
      case "22", "23", "54":
        return BAD_ROW;
      case "08":
        return UNAVAILABLE;
      case "40", "53", "58":
        return TRANSIENT;
      default:
        break;
    }
    if (state.startsWith("57P")) {
      return UNAVAILABLE;
    }
    if (state.equals("57014") || state.equals("55P03")) {
      return TRANSIENT;
    }
    return FATAL;
  }
}
