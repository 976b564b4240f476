package io.fractalrmo.agentworkers.sandbox;

import io.fractalrmo.contracts.ErrorDetail;

/** A Python exception as the sandbox launcher reported it; {@code line} is in the user's code. */
public record PythonError(String type, String message, String traceback, Integer line) {

  public ErrorDetail toDetail() {
    return ErrorDetail.newBuilder().setType(type).setMessage(message == null ? "" : message)
        .setTraceback(traceback).setLine(line).build();
  }
}
