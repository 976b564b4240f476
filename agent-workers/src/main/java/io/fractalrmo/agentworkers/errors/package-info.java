/**
 * Failures as {@code ErrorEvent}s (and {@code Alert}s for SECURITY and RUNTIME): the category from
 * the error's type and context ({@link io.fractalrmo.agentworkers.errors.ErrorCategorizer}) and
 * the records ({@link io.fractalrmo.agentworkers.errors.ErrorLogger}).
 */
package io.fractalrmo.agentworkers.errors;
