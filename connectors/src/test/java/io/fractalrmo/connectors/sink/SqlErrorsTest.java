package io.fractalrmo.connectors.sink;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class SqlErrorsTest {

  @ParameterizedTest(name = "SQLSTATE {0} -> {1}")
  @CsvSource({
      // a record the database refuses: DLQ, move on
      "22021, BAD_ROW",     // character not in repertoire (a NUL in text)
      "22001, BAD_ROW",     // string data right truncation
      "23514, BAD_ROW",     // check violation
      "23502, BAD_ROW",     // not-null violation
      "54000, BAD_ROW",     // program limit exceeded: index row too large (an over-long key)
      // try again soon, a bounded number of times
      "40001, TRANSIENT",   // serialization failure
      "40P01, TRANSIENT",   // deadlock detected
      "53300, TRANSIENT",   // too many connections
      "53100, TRANSIENT",   // disk full
      "55P03, TRANSIENT",   // lock not available
      "57014, TRANSIENT",   // statement cancelled (statement_timeout)
      "58030, TRANSIENT",   // I/O error
      // the database is away: DEGRADED until it is back
      "08001, UNAVAILABLE", // cannot connect
      "08006, UNAVAILABLE", // connection failure
      "57P01, UNAVAILABLE", // admin shutdown
      "57P02, UNAVAILABLE", // crash shutdown
      "57P03, UNAVAILABLE", // cannot connect now (starting up, recovering)
      // no retry fixes these: stop
      "42P01, FATAL",       // undefined table
      "42501, FATAL",       // insufficient privilege
      "28P01, FATAL",       // bad password
      "3D000, FATAL",       // no such database
      "XX000, FATAL",       // internal error
      "25P02, FATAL",       // in failed transaction (a bug of ours)
  })
  void shouldClassifyBySqlState(String state, SqlErrors expected) {
    assertThat(SqlErrors.classify(state)).isEqualTo(expected);
  }

  @ParameterizedTest(name = "state ''{0}'' -> TRANSIENT")
  @CsvSource(value = {"NULL", "''", "0"}, nullValues = "NULL")
  void shouldGiveAStatelessErrorABoundedRetry(String state) {
    assertThat(SqlErrors.classify(state)).isEqualTo(SqlErrors.TRANSIENT);
  }
}
