"""Items the organisers put in order by hand (an event's questions, a survey's questions): each has
a `position`, numbered from 1."""


def move_one_place(items, item, offset):
    """Move `item` one place up (`offset` -1) or down (+1) among `items` (in their order), then
    number them again from 1. False when it is first (or last) already. Not committed."""
    ordered = list(items)
    index = ordered.index(item)
    other = index + offset
    if not 0 <= other < len(ordered):
        return False
    ordered[index], ordered[other] = ordered[other], ordered[index]
    for position, each in enumerate(ordered, 1):
        if each.position != position:
            each.position = position
    return True
