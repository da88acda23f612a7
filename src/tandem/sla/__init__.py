"""SLA engine: business calendars, the SLA clock and the priority matrix.

The modules here are the pure core (plain functions over plain data, no Django): the ORM layer
loads calendars, policies and ticket histories, calls them, and stores or shows the results.

* ``tandem.sla.calendar``: when a party's service hours are open; business time arithmetic.
* ``tandem.sla.clock``: due dates, elapsed time, breaches and per-party charging of a ticket.
* ``tandem.sla.priority``: priority = impact x urgency through a per-tenant matrix.
* ``tandem.sla.bench``: recomputation throughput (``python -m tandem.sla.bench``).
"""
