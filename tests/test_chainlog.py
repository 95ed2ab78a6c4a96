"""The chain's log while a cell runs (colorlib.workflow.chainlog): Keras' epochs and tqdm's bars."""

from __future__ import annotations

from colorlib.workflow.chainlog import OutputRelay

EPOCH = "195/195 - 1546s - 8s/step - loss: 0.0115 - val_loss: 0.0126 - learning_rate: 1.8090e-04"


def bar(percent: int, seconds: int) -> str:
    """A tqdm bar's state, ``features:  30%|###       | 30/100 [00:03<00:10, 9.50img/s]``."""
    filled = "#" * (percent // 10)
    return f"features: {percent:3d}%|{filled:<10}| {percent}/100 [00:{seconds:02d}<00:10, 9.50img/s]"


class Clock:
    """A clock the test moves by hand (seconds)."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_epoch_lines_are_logged_whole_even_when_they_arrive_in_pieces():
    lines: list[str] = []
    relay = OutputRelay("[3/5] 03_training", lines.append)
    relay.write("Resuming from the backup after epoch 5 of 25.\nEpoch 6/")
    assert lines == []  # the header is not complete yet
    relay.write("25\n" + EPOCH[:40])
    relay.write(EPOCH[40:] + "\nsome other output\n")
    assert lines == ["[3/5] 03_training: Epoch 6/25", f"[3/5] 03_training: {EPOCH}"]


def test_a_long_progress_bar_is_logged_once_an_interval_and_when_done():
    lines: list[str] = []
    clock = Clock()
    relay = OutputRelay("[2/5] 02_feature_extraction", lines.append, interval=60, clock=clock)
    relay.write("\r" + bar(0, 0))
    relay.write("\r")  # tqdm redraws in place: the carriage return ends the state before
    for percent in range(10, 100, 10):
        clock.now += 20
        relay.write(bar(percent, percent // 10) + "\r")
    relay.write(bar(100, 10) + "\r" + bar(100, 10) + "\n")  # tqdm draws the last state again on close
    logged = [line.removeprefix("[2/5] 02_feature_extraction: ") for line in lines]
    # Every 60 s from the start (0 s) and the last state, once.
    assert logged == [bar(30, 3), bar(60, 6), bar(90, 9), bar(100, 10)]


def test_a_short_progress_bar_is_not_logged_and_a_new_bar_of_the_same_name_starts_afresh():
    lines: list[str] = []
    clock = Clock()
    relay = OutputRelay("p", lines.append, interval=60, clock=clock)
    relay.write(bar(0, 0) + "\r" + bar(100, 1) + "\n")
    assert lines == []
    clock.now = 100.0
    relay.write(bar(0, 0) + "\r")
    clock.now = 130.0  # 30 s after this bar started, although 130 s after the first one
    relay.write(bar(50, 30) + "\r")
    assert lines == []
    clock.now = 160.0
    relay.write(bar(90, 59) + "\r" + bar(100, 60) + "\n")
    assert lines == [f"p: {bar(90, 59)}", f"p: {bar(100, 60)}"]


def test_a_bar_without_a_total_is_logged_once_an_interval():
    lines: list[str] = []
    clock = Clock()
    relay = OutputRelay("p", lines.append, interval=60, clock=clock)
    for seconds in range(0, 150, 30):
        clock.now = float(seconds)
        relay.write(
            f"Extracting train features: {seconds}img [{seconds // 60:02d}:{seconds % 60:02d}, 1.00img/s]\r"
        )
    assert lines == [
        "p: Extracting train features: 60img [01:00, 1.00img/s]",
        "p: Extracting train features: 120img [02:00, 1.00img/s]",
    ]
