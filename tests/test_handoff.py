import threading

from vidcv.handoff import END, TIMEOUT, Handoff


def test_newest_wins_replaces_and_counts():
    h = Handoff(newest_wins=True)
    for i in range(5):
        assert h.put(i)
    assert h.dropped == 4 and h.get(0) == 4 and h.get(0) is TIMEOUT
    h.put(9)
    h.close()
    assert h.get(0) == 9 and h.get(0) is END  # drained before the end is reported


def test_bounded_fifo_blocks_until_taken_and_keeps_order():
    h = Handoff(capacity=2)
    got = []

    def consumer():
        while (item := h.get(1.0)) is not END:
            if item is not TIMEOUT:
                got.append(item)

    thread = threading.Thread(target=consumer)
    thread.start()
    for i in range(100):
        assert h.put(i)
    h.close()
    thread.join(5)
    assert got == list(range(100)) and h.dropped == 0


def test_put_gives_up_when_stopped_while_full():
    h = Handoff(capacity=1)
    stop = threading.Event()
    h.put("a")
    stop.set()
    assert h.put("b", stop) is False and len(h) == 1
