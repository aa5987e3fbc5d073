import threading

from vidcv.handoff import END, TIMEOUT, BoundedFifo, NewestWins


def test_newest_wins_replaces_and_counts():
    h = NewestWins()
    for i in range(5):
        assert h.put(i)
    assert h.dropped == 4 and h.get(0) == 4 and h.get(0) is TIMEOUT
    h.put(9)
    h.close()
    assert h.get(0) == 9 and h.get(0) is END  # drained before the end is reported


def test_bounded_fifo_blocks_until_taken_and_keeps_order():
    h = BoundedFifo(capacity=2)
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
    h = BoundedFifo(capacity=1)
    stop = threading.Event()
    h.put("a")
    stop.set()
    assert h.put("b", stop) is False and len(h) == 1


def test_a_fifo_cleared_gives_back_its_room_and_keeps_its_end():
    h = BoundedFifo(capacity=3)
    for i in range(3):
        assert h.put(i)
    assert len(h) == 3 and h.clear() == 3 and len(h) == 0
    for i in range(3):  # every place free again: none of these puts waits
        assert h.put(10 + i)
    h.close()
    assert h.clear() == 3 and len(h) == 0
    assert h.get(0) is END and h.get(0) is END  # the end stays after a clear, for every later get


def test_a_fifo_get_times_out_and_ends_after_draining():
    h = BoundedFifo(capacity=2)
    assert h.get(0) is TIMEOUT and h.get(0.01) is TIMEOUT
    h.put("a")
    h.close()
    h.close()  # twice: one end
    assert h.get(0) == "a" and h.get(0) is END and h.get(None) is END


def test_a_producer_waiting_for_room_goes_on_once_a_frame_is_taken():
    h = BoundedFifo(capacity=1)
    h.put("a")
    done = threading.Event()
    thread = threading.Thread(target=lambda: h.put("b") and done.set())
    thread.start()
    assert not done.wait(0.2)  # full: the put waits
    assert h.get(1.0) == "a"
    assert done.wait(2.0) and h.get(1.0) == "b"
    thread.join(2)
