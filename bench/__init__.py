"""Benchmarks for Marque (`make bench`): they print figures and ratios, never pass or fail on time.

Every figure is printed beside a baseline measured in the same run on the same machine, so the
ratio says how much of the machine's ceiling our code keeps (DESIGN.md §5).
"""
