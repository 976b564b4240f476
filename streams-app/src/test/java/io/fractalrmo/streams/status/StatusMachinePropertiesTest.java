package io.fractalrmo.streams.status;

import static org.assertj.core.api.Assertions.assertThat;

import io.fractalrmo.contracts.StateTransition;
import io.fractalrmo.contracts.TaskState;
import io.fractalrmo.contracts.TaskStatus;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/** Invariants of the task life cycle, whatever order the topics deliver their records in. */
class StatusMachinePropertiesTest {

  @Provide
  Arbitrary<List<TaskState>> steps() {
    return Arbitraries.of(TaskState.RECEIVED, TaskState.ANALYZING, TaskState.PLANNED,
        TaskState.EXECUTING, TaskState.VALIDATING, TaskState.SUCCEEDED, TaskState.FAILED,
        TaskState.REJECTED).list().ofMinSize(1).ofMaxSize(20);
  }

  private static TaskStatus run(List<TaskState> states) {
    TaskStatus s = null;
    long t = 0;
    for (TaskState state : states) {
      s = StatusMachine.apply("task-1", s, StatusMachine.Step.of(state, t++));
    }
    return s;
  }

  @Property
  void shouldEndInTheFurthestStateAndKeepTheFirstVerdict(@ForAll("steps") List<TaskState> states) {
    TaskStatus s = run(states);
    TaskState firstVerdict = states.stream().filter(StatusMachine::terminal).findFirst().orElse(null);
    if (firstVerdict != null) {
      assertThat(s.getState()).isEqualTo(firstVerdict);
    } else {
      int furthest = states.stream().mapToInt(StatusMachine::rank).max().orElseThrow();
      assertThat(StatusMachine.rank(s.getState())).isEqualTo(furthest);
    }
  }

  @Property
  void shouldRecordEachStateOnceInLifeCycleOrder(@ForAll("steps") List<TaskState> states) {
    List<TaskState> transitions = run(states).getTransitions().stream()
        .map(StateTransition::getState).toList();
    assertThat(transitions).doesNotHaveDuplicates();
    assertThat(transitions.stream().filter(StatusMachine::terminal).count()).isLessThanOrEqualTo(1);
    for (int i = 1; i < transitions.size(); i++) {
      assertThat(StatusMachine.rank(transitions.get(i)))
          .isGreaterThanOrEqualTo(StatusMachine.rank(transitions.get(i - 1)));
    }
  }
}
