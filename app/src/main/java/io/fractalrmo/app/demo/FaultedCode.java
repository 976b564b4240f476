package io.fractalrmo.app.demo;

/** A problem's candidate code with one injected fault (or none), and what was changed. */
public record FaultedCode(Problem problem, Fault fault, String code, String detail) {
}
